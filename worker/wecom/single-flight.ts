/**
 * @module
 * Single-flight: concurrent callers of one key share one promise, so a burst asks upstream once.
 */

/** Concurrent callers of one key join the running flight instead of starting another upstream call. */
export function singleFlight(): <T>(key: string, run: () => Promise<T>) => Promise<T> {
  const flights = new Map<string, Promise<unknown>>();
  return <T>(key: string, run: () => Promise<T>): Promise<T> => {
    const running = flights.get(key) as Promise<T> | undefined;
    if (running) return running;
    const flight = run().finally(() => flights.delete(key));
    flights.set(key, flight);
    return flight;
  };
}
