import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The analyst workstation: built into web/dist, served by the niix service at / (same origin as /api). */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 700 },
  server: { proxy: { '/api': 'http://127.0.0.1:3000', '/health': 'http://127.0.0.1:3000' } },
});
