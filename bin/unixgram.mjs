#!/usr/bin/env node
// The `unixgram` command: the CLI is built from src/cli/ into dist/cli/.
import '../dist/cli/main.js';
