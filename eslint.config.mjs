// Flat ESLint config shared by every workspace package.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.strata/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // One entry point per package: no deep imports across packages.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@strata/*/*', '!@strata/*/nest'],
              message: 'Import a package through its entry point.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests read loosely typed JSON bodies; `any` there keeps assertions readable. They may also use a package's
    // published test support (`@strata/platform/testing`: the integration servers, a fresh test database).
    files: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@strata/*/*', '!@strata/*/nest', '!@strata/*/testing'],
              message: 'Import a package through its entry point.',
            },
          ],
        },
      ],
    },
  },
);
