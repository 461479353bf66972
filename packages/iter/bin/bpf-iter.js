#!/usr/bin/env node
// Launcher kept outside dist/ so that the bin link exists before the first build.
import "../dist/cli/start.js";
