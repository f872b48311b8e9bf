import neostandard from 'neostandard'
import { createNodeResolver, importX } from 'eslint-plugin-import-x'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', '**/node_modules/**', 'test-results/**', '.scratch/**'] }),
  {
    // No import cycles: imports run one way (capture -> record -> store -> present).
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })]
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] }
  }
]
