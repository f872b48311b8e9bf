/**
 * The data and per-request work behind the bench's realistic routes: a product catalogue made once
 * at start-up, an API handler that filters, maps and serialises a few hundred of its objects, and a
 * ~20 KB HTML page rendered from it on every request (by a template literal, or by eta through
 * @fastify/view in bench/app.ts).
 */

/** One product of the catalogue. */
export interface Product {
  id: number
  sku: string
  name: string
  category: string
  priceCents: number
  stock: number
  tags: string[]
  /** ISO 8601. */
  updated: string
}

/** A product as the page shows it. */
export interface PageRow {
  id: number
  sku: string
  name: string
  category: string
  price: string
  stock: number
}

/** What bench/views/page.eta and the template-literal page render. */
export interface PageData {
  title: string
  categories: Array<{ name: string, href: string }>
  rows: PageRow[]
}

export const CATEGORIES = ['Kitchen', 'Garden', 'Office', 'Outdoor', 'Lighting', 'Storage']
const FINISHES = ['Classic', 'Deluxe', 'Compact', 'Pro']
const TAGS = ['new', 'sale', 'eco', 'bestseller', 'limited', 'bundle']

/** Deterministic catalogue of `count` products. */
export function makeCatalogue (count = 2000): Product[] {
  const products: Product[] = []
  for (let i = 1; i <= count; i++) {
    const category = CATEGORIES[i % CATEGORIES.length] ?? 'Kitchen'
    products.push({
      id: i,
      sku: `SKU-${String(i).padStart(5, '0')}`,
      name: `${category} item no. ${i} "${FINISHES[i % FINISHES.length] ?? 'Classic'}"`,
      category,
      priceCents: ((i * 3701) % 90000) + 500,
      stock: (i * 13) % 120,
      tags: TAGS.filter((_, t) => (i + t) % 3 === 0),
      updated: new Date(1_700_000_000_000 + i * 60_000).toISOString()
    })
  }
  return products
}

function price (cents: number): string {
  return (cents / 100).toFixed(2)
}

/**
 * The API route's work: the products in stock under a price cap, mapped to what a client shows,
 * with a derived field or two. About 200 of the 2,000 products pass; the caller serialises them.
 */
export function apiListing (catalogue: readonly Product[]): object {
  const items = catalogue
    .filter((p) => p.stock > 20 && p.priceCents < 50_000 && p.id % 3 === 0)
    .map((p) => ({
      id: p.id,
      sku: p.sku,
      title: p.name,
      category: p.category.toLowerCase(),
      price: price(p.priceCents),
      inStock: p.stock,
      onSale: p.tags.includes('sale'),
      tags: p.tags,
      updated: p.updated
    }))
  return { total: items.length, items }
}

/** The page's data for one request: ~55 rows, about 20 KB once rendered. */
export function pageData (catalogue: readonly Product[], rows = 72): PageData {
  return {
    title: 'Products · Example Store',
    categories: CATEGORIES.map((c) => ({ name: c, href: `/c/${c.toLowerCase()}` })),
    rows: catalogue.slice(0, rows).map((p) => ({ id: p.id, sku: p.sku, name: p.name, category: p.category, price: price(p.priceCents), stock: p.stock }))
  }
}

function escape (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** The page rendered by a template literal, escaping every value as eta's autoEscape does. */
export function renderPageLiteral (d: PageData): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escape(d.title)}</title>
  <meta name="description" content="Browse the product catalogue of an example store.">
  <link rel="stylesheet" href="/assets/site.css">
  <link rel="icon" href="/favicon.ico">
</head>
<body class="catalogue">
  <header class="site-header">
    <a class="logo" href="/">Example Store</a>
    <nav><ul>
${d.categories.map((c) => `      <li><a href="${escape(c.href)}">${escape(c.name)}</a></li>\n`).join('')}    </ul></nav>
    <form class="search" action="/search" method="get"><input type="search" name="q" placeholder="Search products"><button>Search</button></form>
  </header>
  <main>
    <h1>All products</h1>
    <p class="intro">Everything we sell, with live stock levels. Prices include VAT; delivery is free over 50.</p>
    <table class="products">
      <thead><tr><th>SKU</th><th>Product</th><th>Category</th><th>Price</th><th>Stock</th><th></th></tr></thead>
      <tbody>
${d.rows.map((r) => `        <tr data-sku="${escape(r.sku)}"><td>${escape(r.sku)}</td><td><a href="/p/${r.id}">${escape(r.name)}</a></td><td>${escape(r.category)}</td><td class="num">${escape(r.price)}</td><td class="num">${r.stock}</td><td><button class="add" data-id="${r.id}">Add to cart</button></td></tr>\n`).join('')}      </tbody>
    </table>
    <nav class="pager"><a href="?page=1" aria-current="page">1</a> <a href="?page=2">2</a> <a href="?page=3">3</a> <a href="?page=2" rel="next">Next</a></nav>
  </main>
  <footer class="site-footer">
    <p>&copy; Example Store. <a href="/terms">Terms</a> · <a href="/privacy">Privacy</a> · <a href="/contact">Contact</a></p>
  </footer>
  <script src="/assets/site.js" defer></script>
</body>
</html>
`
}
