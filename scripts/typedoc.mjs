#!/usr/bin/env node
// `npm run docs`: the API reference (TypeDoc, configured in typedoc.json) in docs/api.
//
// TypeDoc reads the sources through TypeScript's JavaScript compiler API. ncgpu builds with
// TypeScript 7, the native compiler, whose 'typescript' package has no such API, and TypeDoc 0.28
// supports TypeScript up to 6.0. So TypeDoc's own imports of 'typescript' resolve to TypeScript 6,
// installed as the dev dependency 'typescript6'; the build and the typecheck keep TypeScript 7.
// (package.json's `overrides` lets TypeDoc's peer dependency on typescript be met by the project's
// TypeScript 7, so that `npm install` does not refuse the combination.)
// Arguments go to TypeDoc's command line.
import { createRequire, register } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

register('./typedoc-typescript6-hooks.mjs', import.meta.url);
const typedocIndex = createRequire(import.meta.url).resolve('typedoc');
await import(pathToFileURL(join(dirname(typedocIndex), 'cli.js')).href);
