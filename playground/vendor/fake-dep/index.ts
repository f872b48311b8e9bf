/**
 * A stand-in for a third-party dependency (think of it as node_modules/fake-dep), so the playground
 * has allocations that happen inside "library" code: parseRecords() turns CSV text into objects and
 * allocates about 1 MB doing it (line strings, field strings, the records and the list).
 */

export interface ParsedRecord {
  id: number
  name: string
  score: number
  active: boolean
}

/** Parse `id,name,score,active` lines (no header, no quoting) into records. */
export function parseRecords (text: string): ParsedRecord[] {
  const records: ParsedRecord[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const [id, name, score, active] = line.split(',')
    records.push({
      id: Number(id),
      name: (name ?? '').trim(),
      score: Number.parseFloat(score ?? '0'),
      active: active === 'true'
    })
  }
  return records
}

/** Sample input for parseRecords: `lines` CSV lines. */
export function sampleCsv (lines: number): string {
  const out: string[] = []
  for (let i = 0; i < lines; i++) out.push(`${i},user-${i.toString(36)}-name,${(i % 1000) / 10},${i % 3 === 0}`)
  return out.join('\n') + '\n'
}
