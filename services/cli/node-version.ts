// Imported first by main.ts, so the check runs before any other module (a native addon built
// for Node 24 fails to load on an older Node with a far less helpful message).
const NODE_MAJOR = 24;
if (Number(process.versions.node.split('.')[0]) < NODE_MAJOR) {
  process.stderr.write(`solvermesh: Node.js ${NODE_MAJOR} LTS or newer is needed, this is ${process.version}; run make deps (it installs Node ${NODE_MAJOR} under .tools/)\n`);
  process.exit(1);
}
