// Who may reach /mcp (Host and Origin against DNS rebinding) and which tools a principal gets:
// pure checks, given/when/then.
import assert from 'node:assert/strict';
import type { Principal, Scope } from '../../../services/gateway/auth';
import { hostnameOf, refusedOrigin } from '../../../services/mcp/origin';
import { allowed, scopeRefusal } from '../../../services/mcp/server';
import { TOOLS } from '../../../services/mcp/tools';

const HOSTS = ['localhost', '127.0.0.1', '[::1]'];
const who = (...scopes: Scope[]): Principal => ({ subject: 'ann', scopes: new Set(scopes) });

describe('MCP Host and Origin checks (DNS rebinding)', () => {
  it('given Host values with ports and IPv6 brackets, then the hostname is what is compared', () => {
    assert.equal(hostnameOf('LocalHost:3000'), 'localhost');
    assert.equal(hostnameOf('[::1]:3000'), '[::1]');
    assert.equal(hostnameOf('127.0.0.1'), '127.0.0.1');
  });

  it('given a local Host and no Origin (a non-browser client), then the request passes', () => {
    assert.equal(refusedOrigin({ host: '127.0.0.1:3000' }, HOSTS, []), null);
    assert.equal(refusedOrigin({ host: '[::1]:3000', origin: 'http://localhost:5173' }, HOSTS, []), null);
  });

  it('when a rebound name arrives as Host, then it is refused naming the allowed hosts', () => {
    assert.match(refusedOrigin({ host: 'attacker.example:3000' }, HOSTS, [])!, /Host "attacker\.example:3000" .*localhost, 127\.0\.0\.1, \[::1\]/);
    assert.match(refusedOrigin({}, HOSTS, [])!, /no Host header/);
  });

  it('when a page of another origin calls a local Host, then it is refused unless that origin is allowed', () => {
    assert.match(refusedOrigin({ host: 'localhost:3000', origin: 'https://attacker.example' }, HOSTS, [])!, /Origin "https:\/\/attacker\.example" may not call MCP/);
    assert.equal(refusedOrigin({ host: 'localhost:3000', origin: 'https://app.example' }, HOSTS, ['https://app.example']), null);
    assert.match(refusedOrigin({ host: 'localhost:3000', origin: 'null' }, HOSTS, [])!, /is not a URL/);
  });
});

describe('MCP tools by scope', () => {
  it('given the ten tools, then each needs one of the gateway scopes, and names are unique', () => {
    assert.equal(TOOLS.length, 10);
    assert.equal(new Set(TOOLS.map((t) => t.name)).size, 10);
    assert.deepEqual(TOOLS.filter((t) => t.scope === 'read').map((t) => t.name).sort(), ['conflicts_query', 'mesh_best_agents', 'mesh_status', 'solver_status', 'solver_wait_converged']);
  });

  it('given a read-only principal, when it calls an open tool, then the refusal names the scope it lacks; admin may call everything', () => {
    assert.equal(allowed(who('read'), 'open'), false);
    assert.match(scopeRefusal(who('read'), 'solver_open_session')!, /^FORBIDDEN: token of ann lacks scope "open", which solver_open_session needs \(it has read\)$/);
    assert.equal(scopeRefusal(who('read'), 'solver_status'), undefined);
    assert.equal(scopeRefusal(who('admin'), 'mesh_coordinate'), undefined);
    // An unknown tool is the server's to answer ("not found"), not a scope matter.
    assert.equal(scopeRefusal(who('read'), 'no_such_tool'), undefined);
  });
});
