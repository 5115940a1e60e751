/**
 * @module
 * Top-level navigation, behind one object so tests can watch it instead of leaving the page.
 */
export const navigation = {
  assign(url: string): void {
    location.assign(url);
  },
  /** Loads the page again at another route: the boot decides what a route needs (e.g. admin outside WeCom). */
  reloadAt(hash: string): void {
    location.hash = hash;
    location.reload();
  },
  reload(): void {
    location.reload();
  },
  /** Path, query and fragment: where login should bring the member back to. */
  currentPath(): string {
    return `${location.pathname}${location.search}${location.hash}`;
  },
};
