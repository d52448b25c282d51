// The live page at / from local files only (no CDN: the machines have no internet): the page
// itself and uPlot from node_modules, read once at start.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { projectRoot } from '../../schemas/project-root';

const FILES: Record<string, { path: string[]; type: string }> = {
  '/': { path: ['services', 'gateway', 'page', 'index.html'], type: 'text/html; charset=utf-8' },
  '/page/app.js': { path: ['services', 'gateway', 'page', 'app.js'], type: 'text/javascript; charset=utf-8' },
  '/page/uPlot.iife.min.js': { path: ['node_modules', 'uplot', 'dist', 'uPlot.iife.min.js'], type: 'text/javascript; charset=utf-8' },
  '/page/uPlot.min.css': { path: ['node_modules', 'uplot', 'dist', 'uPlot.min.css'], type: 'text/css; charset=utf-8' },
};

export function registerPage(app: FastifyInstance): void {
  const root = projectRoot();
  for (const [url, f] of Object.entries(FILES)) {
    const body = readFileSync(join(root, ...f.path));
    app.get(url, { schema: { hide: true } }, async (_req, reply) => reply.type(f.type).header('cache-control', 'no-cache').send(body));
  }
}
