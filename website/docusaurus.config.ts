import type * as Preset from "@docusaurus/preset-classic";
import type { Config } from "@docusaurus/types";
import { themes as prismThemes } from "prism-react-renderer";
import { siteLocation } from "./scripts/site-url.mjs";

const WORKSPACE_DIST = /[\\/]packages[\\/][^\\/]+[\\/]dist[\\/]/;

// The published address (TS_EBPF_SITE_URL, see scripts/site-url.mjs): canonical links and
// sitemap.xml point there, and the build is served under its path.
const { url, baseUrl } = siteLocation();

const config: Config = {
  title: "ts-ebpf",
  tagline: "eBPF from TypeScript, built around BPF iterators",
  favicon: "img/favicon.svg",
  url,
  baseUrl,
  // Every page is <route>/index.html and every link ends in "/": a plain static server
  // (no rewriting of /a/b to a/b.html) serves each deep link as it is.
  trailingSlash: true,
  onBrokenLinks: "throw",
  onBrokenAnchors: "throw",
  onDuplicateRoutes: "throw",
  markdown: {
    hooks: { onBrokenMarkdownLinks: "throw", onBrokenMarkdownImages: "throw" },
  },
  i18n: { defaultLocale: "en", locales: ["en"] },
  presets: [
    [
      "classic",
      {
        docs: {
          routeBasePath: "docs",
          sidebarPath: "./sidebars.ts",
        },
        blog: false,
        theme: { customCss: "./src/css/custom.css" },
      } satisfies Preset.Options,
    ],
  ],
  themes: [
    [
      "@easyops-cn/docusaurus-search-local",
      {
        hashed: true,
        indexBlog: false,
        docsRouteBasePath: "docs",
        highlightSearchTermsOnTargetPage: true,
        searchResultContextMaxLength: 60,
      },
    ],
  ],
  plugins: [
    // The live cell bundles @ts-ebpf/dsl for the browser. The workspace packages are already
    // ES2022 from tsc, and babel (with the default browser list it finds beside them) would
    // rewrite their BigInt `**` into Math.pow, which throws on BigInts: leave them alone.
    () => ({
      name: "ts-ebpf-webpack",
      configureWebpack: (webpackConfig: { module?: { rules?: unknown[] } }) => {
        for (const rule of webpackConfig.module?.rules ?? []) {
          const r = rule as { test?: unknown; exclude?: unknown };
          if (!(r.test instanceof RegExp) || !r.test.test("x.js")) continue;
          if (typeof r.exclude !== "function") continue;
          const exclude = r.exclude as (path: string) => boolean;
          r.exclude = (path: string) => exclude(path) || WORKSPACE_DIST.test(path);
        }
        return { resolve: { fallback: { fs: false, path: false, os: false, module: false } } };
      },
    }),
  ],
  themeConfig: {
    navbar: {
      title: "ts-ebpf",
      logo: { alt: "ts-ebpf", src: "img/favicon.svg" },
      items: [
        { type: "doc", docId: "getting-started", position: "left", label: "Getting started" },
        { type: "docSidebar", sidebarId: "book", position: "left", label: "Tutorials" },
        { to: "/docs/api", position: "left", label: "API" },
        { type: "doc", docId: "benchmarks", position: "left", label: "Benchmarks" },
      ],
    },
    footer: {
      style: "dark",
      copyright:
        "ts-ebpf — MIT licensed. Every notebook output on this site was recorded from a real run.",
    },
    prism: {
      theme: prismThemes.github,
      darkTheme: prismThemes.dracula,
      additionalLanguages: ["bash", "c"],
    },
    tableOfContents: { minHeadingLevel: 2, maxHeadingLevel: 3 },
  } satisfies Preset.ThemeConfig,
};

export default config;
