// The part of autocannon's programmatic API the bench uses (autocannon ships no types).
declare module 'autocannon' {
  interface Options {
    url: string
    connections?: number
    pipelining?: number
    /** Seconds. */
    duration?: number
    timeout?: number
    headers?: Record<string, string>
    method?: string
  }

  interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total: number
    p50: number
    p90: number
    p99: number
  }

  interface Result {
    url: string
    /** Seconds the run took. */
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    resets: number
    '2xx': number
    latency: Histogram
    /** Per-second samples; `total` is completed requests. */
    requests: Histogram & { sent: number }
    throughput: Histogram
  }

  function autocannon (opts: Options): Promise<Result> & { stop?: () => void }
  export default autocannon
  export type { Options, Result }
}
