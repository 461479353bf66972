// @ts-check
// Browser test of the built site (website/build): Debian's chromium, driven by
// playwright-core (no browser download), opens the site served on 127.0.0.1 and checks
// that Chapter 18 shows its cells with recorded outputs (and the machine of each, without
// the test harness's attributes), that deep links work on a plain static server, that
// navigation and search work, that a narrow screen has no sideways scrolling, and that the
// live assembler cell computes bytes in the browser. Saves screenshots.
//
//   node test/browser.mjs [--chapter 18] [--live-chapter 16] [--screenshots DIR]
import { createReadStream, existsSync, mkdirSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { siteLocation } from "../scripts/site-url.mjs";

const website = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    chapter: { type: "string", default: "18" },
    "live-chapter": { type: "string", default: "16" },
    screenshots: { type: "string", default: join(website, "test", "screenshots") },
    build: { type: "string", default: join(website, "build") },
  },
});
const build = resolve(String(args.build));
const screenshots = resolve(String(args.screenshots));
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

if (!existsSync(join(build, "index.html"))) {
  console.error(`browser test: no built site at ${build}; run pnpm docs:build first`);
  process.exit(1);
}
if (!existsSync(CHROMIUM)) {
  console.error(`browser test: ${CHROMIUM} not found (apt-get install -y chromium)`);
  process.exit(1);
}

/** @type {Record<string, string>} */
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain",
  ".xml": "application/xml",
  ".woff2": "font/woff2",
};

// A plain static server, as the simplest host is: the site lives under its baseUrl; a path
// is a file, or a folder with index.html (a folder without its final "/" is redirected, as
// nginx and python -m http.server do). No rewriting of /a/b to a/b.html.
const { baseUrl } = siteLocation();
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
  if (!path.startsWith(baseUrl) && `${path}/` !== baseUrl) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    return;
  }
  const file = normalize(join(build, path.slice(baseUrl.length - 1)));
  if (!file.startsWith(build)) {
    res.writeHead(403).end();
    return;
  }
  const stat = existsSync(file) ? statSync(file) : undefined;
  if (stat?.isDirectory() && !path.endsWith("/")) {
    res.writeHead(301, { location: `${path}/` }).end();
    return;
  }
  const served = stat?.isDirectory() ? join(file, "index.html") : file;
  if (!existsSync(served) || !statSync(served).isFile()) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    return;
  }
  res.writeHead(200, { "content-type": TYPES[extname(served)] ?? "application/octet-stream" });
  createReadStream(served).pipe(res);
});
await new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(undefined)));
const address = server.address();
// Every URL below is under the site's baseUrl.
const origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}${baseUrl.slice(0, -1)}`;

let passed = 0;
let failed = 0;
/** @param {string} name @param {() => Promise<void>} fn */
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
/** @param {unknown} cond @param {string} message */
function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  /** @type {string[]} */
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  mkdirSync(screenshots, { recursive: true });
  const chapter = String(args.chapter);
  const chapterUrl = `${origin}/docs/tutorials/chapter-${chapter}/`;

  await check(`chapter ${chapter} shows its cells with recorded outputs`, async () => {
    const response = await page.goto(chapterUrl, { waitUntil: "networkidle" });
    assert(response?.ok(), `GET ${chapterUrl}: ${response?.status()}`);
    const title = await page.locator("article h1").first().innerText();
    assert(title.startsWith(`Chapter ${chapter} `), `title is "${title}"`);
    const cells = await page.locator(".nb-cell").count();
    assert(cells >= 3, `only ${cells} cells`);
    const outputs = await page.locator(".nb-output[data-kernel]").count();
    const missing = await page.locator("[data-testid=nb-output-missing]").count();
    assert(missing === 0, `${missing} cells have no recorded output`);
    assert(outputs === cells, `${outputs} outputs for ${cells} cells`);
    const kernel = await page.locator(".nb-kernel").first().innerText();
    assert(/^Linux \d+\.\d+/.test(kernel), `kernel label "${kernel}"`);
    // Each output names its machine: virtualisation and CPU.
    // textContent: the labels of folded (hidden) cells have no rendered text.
    const labels = await page.locator(".nb-kernel").allTextContents();
    const machineLabel =
      /(no virtualisation|KVM guest|QEMU TCG \(emulated\) guest|virtual machine) · .+ × \d+/;
    assert(
      labels.every((l) => machineLabel.test(l)),
      `a machine label lacks virtualisation or CPU: ${labels.find((l) => !machineLabel.test(l))}`,
    );
    // The cells recorded in a guest (bpf_map_elem) say so.
    const elsewhere = await page.locator(".nb-kernel[class*=elsewhere]").allTextContents();
    assert(
      elsewhere.length > 0 && elsewhere.every((l) => /TCG/.test(l)),
      `cells recorded elsewhere: ${elsewhere.join(" | ")}`,
    );
    // The test harness's attributes are not shown to readers.
    const badges = (await page.locator(".nb-cell [class*=badge]").allInnerTexts()).join(" | ");
    assert(!/expect=|timeout=|throws=\//.test(badges), `harness attributes shown: ${badges}`);
    const meta = await page.locator(".nb-meta").innerText();
    assert(/Outputs recorded on Linux .+\(.+×/.test(meta), `chapter meta: ${meta}`);
    const code = await page.locator(".nb-cell pre code").first().innerText();
    assert(code.trim().length > 0, "first cell has no code");
    const printed = await page.locator(".nb-output pre").allInnerTexts();
    assert(
      printed.some((t) => t.trim().length > 0),
      "no output block has text",
    );
    const toc = await page.locator(".table-of-contents a").count();
    assert(toc > 0, "no table of contents");
    await page.screenshot({ path: join(screenshots, `chapter-${chapter}.png`) });
    await page.locator(".nb-output").nth(1).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshots, `chapter-${chapter}-outputs.png`) });
  });

  await check("the sidebar lists the parts and navigates between chapters", async () => {
    await page.goto(chapterUrl, { waitUntil: "networkidle" });
    const sidebar = await page.locator("nav.menu").innerText();
    for (const part of ["Part 1", "Part 2", "Part 3"]) {
      assert(sidebar.includes(part), `sidebar lacks ${part}`);
    }
    const previous = page.locator("a.pagination-nav__link--prev");
    assert((await previous.count()) === 1, "no link to the previous page");
    // The label is the sidebar's ("17. Title"); the page's h1 is "Chapter 17 — Title".
    const label = await previous.locator(".pagination-nav__label").innerText();
    const target = label.replace(/^\d+\.\s*/, "");
    const before = await page.locator("article h1").first().innerText();
    await previous.click();
    // Client-side navigation: wait for the new page's title, not just the URL.
    await page.waitForFunction(
      (old) => document.querySelector("article h1")?.textContent !== old,
      before,
      { timeout: 15_000 },
    );
    const after = await page.locator("article h1").first().innerText();
    assert(after.includes(target), `went to "${after}", expected "${target}"`);
    assert(page.url() !== chapterUrl, `still at ${chapterUrl}`);
    await page.locator("nav.navbar a", { hasText: "Getting started" }).first().click();
    await page.waitForURL(/\/docs\/getting-started\/?$/);
    // The URL changes before the new page renders (a loaded machine showed the old h1):
    // wait for the title, then assert on what is there.
    await page
      .waitForFunction(
        () => document.querySelector("article h1")?.textContent === "Getting started",
        null,
        { timeout: 15_000 },
      )
      .catch(() => {});
    const h1 = await page.locator("article h1").first().innerText();
    assert(h1 === "Getting started", `getting started title is "${h1}"`);
    await page.goto(`${origin}/docs/api/`, { waitUntil: "networkidle" });
    const api = await page.locator("article").innerText();
    assert(api.includes("@ts-ebpf/iter"), "API reference does not list @ts-ebpf/iter");
  });

  await check(
    "deep links load directly from a plain static server, with or without the final /",
    async () => {
      for (const path of [
        `/docs/tutorials/chapter-${chapter}/`,
        `/docs/tutorials/chapter-${chapter}`,
        "/docs/getting-started",
        "/docs/api/@ts-ebpf/syscall/variables/BPF_F_REPLACE/",
      ]) {
        const fresh = await browser.newPage();
        const response = await fresh.goto(`${origin}${path}`, { waitUntil: "domcontentloaded" });
        assert(response?.ok(), `GET ${path}: ${response?.status()}`);
        const h1 = await fresh.locator("article h1").first().innerText();
        assert(h1.length > 0, `${path}: no title`);
        await fresh.close();
      }
    },
  );

  await check("API pages are titled without Markdown escapes", async () => {
    await page.goto(`${origin}/docs/api/@ts-ebpf/syscall/variables/BPF_F_REPLACE/`, {
      waitUntil: "networkidle",
    });
    const title = await page.title();
    const crumbs = await page.locator("nav.theme-doc-breadcrumbs, .breadcrumbs").allInnerTexts();
    const pager = await page.locator(".pagination-nav").allInnerTexts();
    for (const text of [title, ...crumbs, ...pager]) {
      assert(!text.includes("\\_"), `escaped title: ${text}`);
    }
    assert(title.includes("BPF_F_REPLACE"), `page title "${title}"`);
  });

  await check("the home page leads to Chapter 18 and the quick start", async () => {
    await page.goto(`${origin}/`, { waitUntil: "networkidle" });
    const link = page.locator("main a", { hasText: "Chapter 18" }).first();
    assert((await link.count()) === 1, "no link to Chapter 18");
    const home = await page.locator("main").innerText();
    assert(/Quick start/i.test(home) && home.includes("npm run demo"), "no quick start");
    await link.click();
    await page.waitForURL(/\/docs\/tutorials\/chapter-18\/?$/);
  });

  await check("canonical links and the sitemap point to the published address", async () => {
    const { url } = siteLocation();
    await page.goto(chapterUrl, { waitUntil: "domcontentloaded" });
    const canonical = await page.locator("link[rel=canonical]").getAttribute("href");
    assert(
      canonical === `${url}${baseUrl}docs/tutorials/chapter-${chapter}/`,
      `canonical ${canonical}`,
    );
    const sitemap = await (await fetch(`${origin}/sitemap.xml`)).text();
    assert(!sitemap.includes("localhost"), "the sitemap points to localhost");
    assert(
      sitemap.includes(`${url}${baseUrl}docs/tutorials/chapter-${chapter}/`),
      "sitemap lacks chapter",
    );
  });

  await check("a narrow screen scrolls no page sideways", async () => {
    const narrow = await browser.newPage({ viewport: { width: 375, height: 800 } });
    for (const path of [`/docs/tutorials/chapter-${chapter}/`, "/docs/benchmarks/", "/"]) {
      await narrow.goto(`${origin}${path}`, { waitUntil: "networkidle" });
      const overflow = await narrow.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      assert(overflow <= 1, `${path} is ${overflow}px wider than the screen`);
    }
    await narrow.goto(chapterUrl, { waitUntil: "networkidle" });
    await narrow.screenshot({ path: join(screenshots, `chapter-${chapter}-narrow.png`) });
    await narrow.close();
  });

  await check("local search finds the iterator chapter", async () => {
    await page.goto(`${origin}/docs/getting-started/`, { waitUntil: "networkidle" });
    const input = page.locator("input.navbar__search-input");
    await input.click();
    await input.fill("iterator");
    const suggestion = page.locator(".aa-suggestion, [class*=suggestion]").first();
    await suggestion.waitFor({ timeout: 15_000 });
    const text = await page.locator(".aa-dropdown-menu, [class*=dropdown]").first().innerText();
    assert(/iterator/i.test(text), `search results: ${text.slice(0, 200)}`);
  });

  const live = String(args["live-chapter"]);
  await check(`the live assembler cell on chapter ${live} encodes in the browser`, async () => {
    await page.goto(`${origin}/docs/tutorials/chapter-${live}/`, { waitUntil: "networkidle" });
    const cell = page.locator(".nb-live").first();
    assert((await cell.count()) === 1, "no live cell on the page");
    const error = await cell.locator(".nb-live-error").count();
    assert(
      error === 0,
      `live cell error: ${error ? await cell.locator(".nb-live-error").innerText() : ""}`,
    );
    await cell.locator("textarea").fill("r0 = 7\nexit");
    const bytes = await cell.locator(".nb-live-bytes").innerText();
    assert(/0:\s+b7 00 00 00 07 00 00 00/.test(bytes), `bytes for "r0 = 7": ${bytes}`);
    assert(/1:\s+95 00 00 00 00 00 00 00/.test(bytes), `bytes for "exit": ${bytes}`);
    const disasm = await cell.locator(".nb-live-disasm").innerText();
    assert(/r0 = (?:7|0x7)\b/.test(disasm) && /exit/.test(disasm), `disassembly: ${disasm}`);
    await cell.locator("textarea").fill("r0 = \nexit");
    await cell.locator(".nb-live-error").waitFor({ timeout: 5_000 });
    await cell.locator("textarea").fill("r0 = 7\nexit");
    await cell.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshots, `chapter-${live}-live.png`) });
  });

  await check("no page raised a JavaScript error", async () => {
    assert(pageErrors.length === 0, pageErrors.join("; "));
  });
} finally {
  await browser.close();
  server.close();
}
console.log(`screenshots in ${screenshots}`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
