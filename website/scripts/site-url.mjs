// @ts-check
// Where the site is published, for the absolute URLs Docusaurus writes (canonical links,
// sitemap.xml, social cards). TS_EBPF_SITE_URL sets it (e.g. https://example.org/docs/);
// the default is the GitHub Pages address of the repository the packages name
// (github.com/ts-ebpf/ts-ebpf). The path part becomes the site's baseUrl: the build expects
// to be served under it, and links inside it include it.

export const DEFAULT_SITE_URL = "https://ts-ebpf.github.io/ts-ebpf/";

/**
 * @param {string | undefined} [value] the published address (default: TS_EBPF_SITE_URL, then DEFAULT_SITE_URL)
 * @returns {{ url: string, baseUrl: string }} Docusaurus's `url` (origin) and `baseUrl` (path, ending in /)
 */
export function siteLocation(value = process.env.TS_EBPF_SITE_URL) {
  const text = value && value.trim() !== "" ? value.trim() : DEFAULT_SITE_URL;
  let parsed;
  try {
    parsed = new URL(text);
  } catch {
    throw new TypeError(
      `TS_EBPF_SITE_URL must be an absolute http(s) URL, got ${JSON.stringify(text)}`,
    );
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new TypeError(`TS_EBPF_SITE_URL must be an http(s) URL, got ${JSON.stringify(text)}`);
  }
  if (parsed.search || parsed.hash) {
    throw new TypeError(
      `TS_EBPF_SITE_URL must not have a query or fragment, got ${JSON.stringify(text)}`,
    );
  }
  const baseUrl = parsed.pathname.endsWith("/") ? parsed.pathname : `${parsed.pathname}/`;
  return { url: parsed.origin, baseUrl };
}
