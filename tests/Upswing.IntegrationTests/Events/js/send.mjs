// Sends `perType` events of every Segment call through @segment/analytics-node to `host` and prints, as JSON, each
// event exactly as the client built it (its messageId, context, properties…) and whether the client reported delivery.
// Input (stdin): {host, writeKey, userId, perType, flushAt, flushInterval, maxRetries, httpRequestTimeout}
import { Analytics } from '@segment/analytics-node'

const input = JSON.parse(await new Promise((resolve) => {
  let text = ''
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (chunk) => { text += chunk })
  process.stdin.on('end', () => resolve(text))
}))

const analytics = new Analytics({
  writeKey: input.writeKey,
  host: input.host,
  flushAt: input.flushAt,
  flushInterval: input.flushInterval,
  maxRetries: input.maxRetries,
  httpRequestTimeout: input.httpRequestTimeout,
})

const sent = []
const pending = []
let httpRequests = 0
analytics.on('http_request', () => { httpRequests++ })

function call(method, params) {
  pending.push(new Promise((resolve) => {
    analytics[method](params, (err, ctx) => {
      sent.push({ delivered: !err, error: err ? String(err.reason ?? err) : null, event: ctx.event })
      resolve()
    })
  }))
}

const userId = input.userId
for (let i = 0; i < input.perType; i++) {
  call('track', {
    userId,
    event: `Order Completed ${i % 5}`,
    properties: { orderId: `o-${i}`, total: i + 0.5, coupon: i % 2 === 0 ? null : 'SPRING', products: [{ sku: `sku-${i}`, qty: 2, tags: ['a', 'b'] }], shipping: { address: { city: 'Lyon', zip: '69001' }, express: i % 3 === 0 } },
    context: { campaign: { name: 'winter', source: 'newsletter' }, locale: 'fr-FR' },
  })
  call('identify', { userId, traits: { email: `user-${i}@example.com`, plan: i % 2 ? 'pro' : 'team', logins: i, address: { city: 'Paris' } } })
  call('page', { userId, category: 'Docs', name: `Page ${i}`, properties: { path: `/docs/${i}`, referrer: 'https://example.com/' } })
  call('screen', { userId, name: `Screen ${i}`, properties: { variant: i % 4, dark: true } })
  call('group', { userId, groupId: `acme-${i % 7}`, traits: { name: 'Acme', employees: 100 + i } })
  call('alias', { userId, previousId: `${userId}-anon-${i}` })
}

// closeAndFlush sends what is queued and waits for every batch, retries included, to be settled.
await analytics.closeAndFlush({ timeout: input.closeTimeout ?? 60000 })
await Promise.all(pending)
process.stdout.write(JSON.stringify({ httpRequests, events: sent }))
