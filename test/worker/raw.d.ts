/** Files the tests read as text through Vite's `?raw` (the SPA's index.html and _headers in page.test.ts). */
declare module '*?raw' {
  const text: string;
  export default text;
}
