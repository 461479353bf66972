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
          <Link className="button button--secondary button--lg" to="/docs/tutorials/chapter-18">
            Chapter 18: BPF iterators
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
          shown under it was recorded from that run, with the machine it ran on.
        </p>
        <h2>Quick start</h2>
        <p>From a clone of the repository, as root, on Linux 5.8 or later with BTF:</p>
        <pre>
          <code>
            {
              "sudo npm run demo   # set up; run a task iterator written with the DSL\nsudo npm test       # set up; lint, typecheck, unit and kernel tests\nnode tutorials/dist/cli.js --chapter 18   # run the iterator chapter's notebook"
            }
          </code>
        </pre>
        <p>
          Then read <Link to="/docs/getting-started">Getting started</Link> and{" "}
          <Link to="/docs/tutorials/chapter-18">Chapter 18</Link>, which walks through the kernel's
          iterator contract one syscall per cell.
        </p>
      </main>
    </Layout>
  );
}
