#!/usr/bin/env node
// Launcher kept outside dist/ so that the bin link exists before the first build.
// The compile cache is turned on first: only modules loaded after it use it.
import { enableCliCompileCache } from "../dist/cli/compile-cache.js";

enableCliCompileCache();
await import("../dist/cli/start.js");
