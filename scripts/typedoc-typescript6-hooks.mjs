// Module resolution hooks for scripts/typedoc.mjs: 'typescript' imported from TypeDoc is TypeScript 6.
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'typescript' && context.parentURL?.includes('/node_modules/typedoc/')) {
    return nextResolve('typescript6', context);
  }
  return nextResolve(specifier, context);
}
