import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", "node_modules", "test-results", "src/bindings.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // The UI tests run in Node and hand functions to the page: both sets of globals.
  { files: ["tests/**"], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
);
