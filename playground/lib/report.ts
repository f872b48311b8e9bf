/**
 * The playground's own "business logic" for /allocations: buildReport() allocates about 2 MB of
 * small objects at a known place (this file), so a per-function allocation view can point at it.
 */

export interface ReportRow {
  id: number
  region: string
  product: string
  quantity: number
  unitPrice: number
  /** Twelve monthly figures. */
  monthly: number[]
}

export interface Report {
  rows: ReportRow[]
  totalQuantity: number
  revenue: number
}

const REGIONS = ['north', 'south', 'east', 'west', 'centre']

/** Rows buildReport() makes by default: about 2 MB allocated on the JS heap. */
export const REPORT_ROWS = 6_000

/** Build a sales report of `rows` rows (about 350 bytes allocated a row once warm). */
export function buildReport (rows: number = REPORT_ROWS): Report {
  const out: ReportRow[] = []
  let totalQuantity = 0
  let revenue = 0
  for (let i = 0; i < rows; i++) {
    const monthly: number[] = []
    for (let m = 0; m < 12; m++) monthly.push(((i * 7 + m * 13) % 97) + 0.25)
    const row: ReportRow = {
      id: i,
      region: REGIONS[i % REGIONS.length] ?? 'north',
      product: `product-${i}`,
      quantity: (i * 31) % 50 + 1,
      unitPrice: ((i * 17) % 2000) / 100 + 0.99,
      monthly
    }
    totalQuantity += row.quantity
    revenue += row.quantity * row.unitPrice
    out.push(row)
  }
  return { rows: out, totalQuantity, revenue }
}
