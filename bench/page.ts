/** A realistic server-rendered page of about 20 KB, with a `</body>` for the toolbar to find. */

const CATEGORIES = ['Kitchen', 'Garden', 'Office', 'Outdoor', 'Lighting', 'Storage']

function escape (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** Build the page once; `targetBytes` is approximate (rows are added until it is reached). */
export function benchPage (targetBytes = 20 * 1024): string {
  const head = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Products · Example Store</title>
  <meta name="description" content="Browse the product catalogue of an example store.">
  <link rel="stylesheet" href="/assets/site.css">
  <link rel="icon" href="/favicon.ico">
</head>
<body class="catalogue">
  <header class="site-header">
    <a class="logo" href="/">Example Store</a>
    <nav><ul>
      ${CATEGORIES.map((c) => `<li><a href="/c/${c.toLowerCase()}">${c}</a></li>`).join('\n      ')}
    </ul></nav>
    <form class="search" action="/search" method="get"><input type="search" name="q" placeholder="Search products"><button>Search</button></form>
  </header>
  <main>
    <h1>All products</h1>
    <p class="intro">Everything we sell, with live stock levels. Prices include VAT; delivery is free over 50.</p>
    <table class="products">
      <thead><tr><th>SKU</th><th>Product</th><th>Category</th><th>Price</th><th>Stock</th><th></th></tr></thead>
      <tbody>
`
  const tail = `      </tbody>
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
  const rows: string[] = []
  let size = head.length + tail.length
  for (let i = 1; size < targetBytes; i++) {
    const category = CATEGORIES[i % CATEGORIES.length] ?? 'Kitchen'
    const name = escape(`${category} item no. ${i} "${['Classic', 'Deluxe', 'Compact', 'Pro'][i % 4] ?? 'Classic'}"`)
    const row = `        <tr data-sku="SKU-${String(i).padStart(5, '0')}"><td>SKU-${String(i).padStart(5, '0')}</td><td><a href="/p/${i}">${name}</a></td><td>${category}</td><td class="num">${(((i * 37) % 9000) / 100 + 5).toFixed(2)}</td><td class="num">${(i * 13) % 120}</td><td><button class="add" data-id="${i}">Add to cart</button></td></tr>\n`
    rows.push(row)
    size += row.length
  }
  return head + rows.join('') + tail
}
