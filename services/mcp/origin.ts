// DNS-rebinding defence for /mcp (MCP transports spec, "Security Warning"): a page on another
// site that resolves its own name to this gateway sends its own Host and Origin, so both are
// checked against names this gateway answers to. Pure.

/** The hostname of a Host header value (`name:port`, `[v6]:port`), lower-cased. */
export function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

/** Why the request is refused, or null. A missing Origin is a non-browser client and passes. */
export function refusedOrigin(headers: { host?: string | undefined; origin?: string | undefined }, allowedHosts: readonly string[], allowedOrigins: readonly string[]): string | null {
  const hosts = allowedHosts.map((h) => h.toLowerCase());
  if (!headers.host) return 'no Host header';
  const host = hostnameOf(headers.host);
  if (!hosts.includes(host)) return `Host ${JSON.stringify(headers.host)} is not one this gateway answers MCP on (GATEWAY_MCP_ALLOWED_HOSTS: ${hosts.join(', ')})`;
  const origin = headers.origin;
  if (origin === undefined) return null;
  if (allowedOrigins.includes(origin)) return null;
  let originHost: string;
  try { originHost = new URL(origin).hostname.toLowerCase(); } catch { return `Origin ${JSON.stringify(origin)} is not a URL`; }
  if (hosts.includes(originHost)) return null;
  return `Origin ${JSON.stringify(origin)} may not call MCP here (GATEWAY_MCP_ALLOWED_ORIGINS, or an origin on a GATEWAY_MCP_ALLOWED_HOSTS name)`;
}
