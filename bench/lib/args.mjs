// Command-line flags shared by the bench runners. `spec` maps an option name to its kind;
// the flag is the name in kebab case (valueBytes → --value-bytes), both `--flag value` and
// `--flag=value` are accepted, and anything else is an error naming the usage line.
//   { type: 'int', default, min }   an integer ≥ min
//   { type: 'ints', default, min }  comma-separated integers, each ≥ min
//   { type: 'list', default }       comma-separated names
//   { type: 'string', default }
//   { type: 'on' }                  `--name` sets it to true (default false)
//   { type: 'no' }                  `--no-name` sets it to false (default true)
// `positional`: names filled, in order, by bare arguments (`int` ones parsed as numbers);
// with `rest: true` further bare arguments go to `o._` instead of being refused.
const kebab = (s) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function parseArgs(argv, spec, { usage, positional = [], rest = false } = {}) {
  const o = { _: [] };
  const byFlag = new Map();
  for (const [name, s] of Object.entries(spec)) {
    o[name] = s.type === 'on' ? false : s.type === 'no' ? true : s.default;
    byFlag.set(s.type === 'no' ? `--no-${kebab(name)}` : `--${kebab(name)}`, [name, s]);
  }
  const fail = (msg) => { throw new Error(usage ? `${msg} (usage: ${usage})` : msg); };
  const parse = (s, flag, raw) => {
    if (raw === undefined) fail(`${flag} needs a value`);
    if (s.type === 'int') return Number(raw);
    if (s.type === 'ints') return raw.split(',').map(Number);
    if (s.type === 'list') return raw.split(',').map((x) => x.trim()).filter(Boolean);
    return raw;
  };
  let next = 0;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    if (flag === '--help' || flag === '-h') {
      console.log(`usage: ${usage ?? 'see the comment at the top of the script'}`);
      process.exit(0);
    }
    const hit = byFlag.get(flag);
    if (hit) {
      const [name, s] = hit;
      if (s.type === 'on' || s.type === 'no') o[name] = s.type === 'on';
      else o[name] = parse(s, flag, inline ?? argv[++i]);
    } else if (!argv[i].startsWith('--') && next < positional.length) {
      const name = positional[next++];
      o[name] = parse(spec[name], name, argv[i]);
    } else if (!argv[i].startsWith('--') && rest) {
      o._.push(argv[i]);
    } else fail(`unknown argument ${argv[i]}`);
  }
  for (const [name, s] of Object.entries(spec)) {
    const ok = (n) => Number.isInteger(n) && n >= (s.min ?? -Infinity);
    const atLeast = s.min === undefined ? '' : ` ≥ ${s.min}`;
    if (s.type === 'int' && !ok(o[name])) fail(`--${kebab(name)} must be an integer${atLeast}`);
    if (s.type === 'ints' && !o[name].every(ok)) fail(`--${kebab(name)} must be integers${atLeast}`);
  }
  return o;
}

/** The peers a runner compares: each must be one of `all`; strata-kv, the subject of every
 *  ratio, is always first. */
export function choosePeers(peers, all) {
  for (const p of peers) if (!all.includes(p)) throw new Error(`unknown peer ${p} (peers: ${all.join(', ')})`);
  return peers.includes('strata-kv') ? peers : ['strata-kv', ...peers];
}
