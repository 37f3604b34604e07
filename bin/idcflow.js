#!/usr/bin/env node
// The CLI runs from the repository's TypeScript through tsx's CommonJS loader.
require('tsx/cjs');
require('../cli/main.ts');
