import Link from "@docusaurus/Link";
import Layout from "@theme/Layout";
import type { ReactNode } from "react";

export default function Home(): ReactNode {
  return (
    <Layout title="ts-ebpf" description="eBPF from TypeScript, built around BPF iterators">
      <main className="container margin-vert--xl">
        <h1>ts-ebpf</h1>
        <p className="hero__subtitle">
          eBPF from TypeScript, built around BPF iterators: one <code>read()</code> instead of
          parsing <code>/proc</code> or looping over syscalls.
        </p>
        <div className="margin-vert--lg" style={{ display: "flex", gap: "1rem", flexWrap: "wrap" }}>
          <Link className="button button--primary button--lg" to="/docs/getting-started">
            Getting started
          </Link>
          <Link
            className="button button--secondary button--lg"
            to="/docs/tutorials/part-1-foundations"
          >
            Read the book
          </Link>
          <Link className="button button--secondary button--lg" to="/docs/api">
            API reference
          </Link>
        </div>
        <p>
          The tutorials are notebooks: every code cell ran against a real kernel, and the output
          shown under it was recorded from that run.
        </p>
      </main>
    </Layout>
  );
}
