#!/usr/bin/env node
// Launcher kept outside dist/ so that the bin link exists before the first build.
import { runCli } from "../dist/cli.js";

runCli(process.argv.slice(2));
