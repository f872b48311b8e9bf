import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newId } from '../src/id.ts'
import type { RequestRecord } from '../src/index.ts'
import { RedisServer, redisSkipReason, until } from './redis-server.ts'
import { startWorker, stopWorker, type Worker } from './redis-workers.ts'

const skip = redisSkipReason()

async function get (url: string): Promise<{ status: number, body: string, id: string | null }> {
  const res = await fetch(url)
  return { status: res.status, body: await res.text(), id: res.headers.get('x-debug-toolbar-id') }
}

describe('two processes on one Redis', { skip, timeout: 120_000 }, () => {
  let server: RedisServer
  let a: Worker
  let b: Worker
  const prefix = `mp:${newId()}:`

  before(async () => {
    server = await RedisServer.start()
    ;[a, b] = await Promise.all([startWorker(server.url, prefix, 4), startWorker(server.url, prefix, 4)])
  })
  after(async () => {
    await Promise.all([a, b].filter((w) => w !== undefined).map(stopWorker))
    await server?.stop()
  })

  test('a request served by one process is visible, complete and identical from the other; the cap holds across both', async () => {
    const served: Array<{ id: string, by: Worker }> = []
    for (let i = 0; i < 3; i++) {
      for (const w of [a, b]) {
        const res = await get(`${w.base}/hello`)
        assert.equal(res.status, 200)
        assert.equal(JSON.parse(res.body).pid, w.pid)
        served.push({ id: res.id as string, by: w })
        // Records of different milliseconds, so "newest" is one order across processes.
        await new Promise((resolve) => { setTimeout(resolve, 2) })
      }
    }
    const newest = served.slice(-4)
    for (const { id, by } of newest) {
      const other = by === a ? b : a
      let fromOther: RequestRecord | undefined
      await until(async () => {
        const res = await get(`${other.base}/__debug/api/requests/${id}`)
        if (res.status === 200) fromOther = JSON.parse(res.body)
        return res.status === 200
      }, `record ${id} from the other process`)
      const fromServer = JSON.parse((await get(`${by.base}/__debug/api/requests/${id}`)).body) as RequestRecord
      assert.deepEqual(fromOther, fromServer)
      assert.equal(fromOther?.process.pid, by.pid)
      assert.equal(fromOther?.memory.final, true)
      assert.equal(fromOther?.url, '/hello')
      // The toolbar's bar, its panels and the request page answer from the other process too.
      assert.equal((await get(`${other.base}/__debug/requests/${id}/toolbar`)).status, 200)
      assert.equal((await get(`${other.base}/__debug/requests/${id}/panels/memory`)).status, 200)
      assert.equal((await get(`${other.base}/__debug/requests/${id}/record.json`)).status, 200)
      assert.equal((await get(`${other.base}/__debug/requests/${id}`)).status, 200)
    }
    // maxRequests (4) holds across both processes: both list the same newest four.
    await until(async () => {
      const listA = (JSON.parse((await get(`${a.base}/__debug/api/requests`)).body) as RequestRecord[]).map((r) => r.id)
      const listB = (JSON.parse((await get(`${b.base}/__debug/api/requests`)).body) as RequestRecord[]).map((r) => r.id)
      return listA.length === 4 && JSON.stringify(listA) === JSON.stringify(listB) && newest.every(({ id }) => listA.includes(id))
    }, 'both processes to list the same newest four')
    const store = JSON.parse((await get(`${b.base}/__debug/api/store`)).body)
    assert.equal(store.size, 4)
    // The history page names both processes.
    const page = (await get(`${a.base}/__debug/`)).body
    assert.match(page, new RegExp(`title="process ${a.pid} on `))
    assert.match(page, new RegExp(`title="process ${b.pid} on `))
    const onlyB = (await get(`${a.base}/__debug/?pid=${b.pid}`)).body
    assert.doesNotMatch(onlyB, new RegExp(`title="process ${a.pid} on `))
  })
})
