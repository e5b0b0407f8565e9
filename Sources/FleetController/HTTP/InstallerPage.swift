/// The page an installer opens on the box. It asks for the admin token once, keeps it in the
/// browser's session storage, and shows the controller's status, devices and sensors. Installers pair
/// panels here: the code finds the panel, its fingerprint is compared with the screen, then confirmed.
enum InstallerPage {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
    <title>fleet-controller</title>
    <style>
    body{font:16px/1.4 system-ui,sans-serif;margin:0 auto;max-width:46rem;padding:1rem;color:#222}
    h1{font-size:1.4rem} table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}
    .bad{color:#a00} .ok{color:#070} input{font:inherit;padding:.3rem;width:22rem}
    </style></head><body>
    <h1>fleet-controller</h1>
    <p id="login">Admin token (from <code>admin.token</code> in the state directory):
    <input id="token" type="password" autocomplete="off"> <button id="go">Open</button></p>
    <div id="main" hidden>
    <h2>Status</h2><p id="health"></p><table id="status"></table>
    <h2>Pair a panel</h2>
    <p>Type the code the panel shows. Compare the fingerprint with the panel's screen before confirming.</p>
    <p><input id="code" placeholder="code, e.g. WDJB-MJHT" autocomplete="off" style="width:10rem">
    <input id="resource" placeholder="room or door, e.g. hq/3/3.14" style="width:14rem">
    <input id="pname" placeholder="name (optional)" style="width:10rem"> <button id="find">Find</button></p>
    <p id="found"></p><p id="limit"></p>
    <table id="pending"></table>
    <h2>Devices</h2><table id="devices"></table>
    <h2>Sensors</h2><table id="sensors"></table>
    </div>
    <script>
    const $ = id => document.getElementById(id);
    const api = p => fetch('/api/v1/' + p, {headers: {Authorization: 'Bearer ' + sessionStorage.token}})
      .then(r => r.ok ? r.json() : r.json().then(e => Promise.reject(e.message)));
    const row = cells => '<tr>' + cells.map(c => '<td>' + String(c ?? '').replace(/[<&]/g, s => s === '<' ? '&lt;' : '&amp;') + '</td>').join('') + '</tr>';
    async function load() {
      try {
        const s = await api('status');
        $('login').hidden = true; $('main').hidden = false;
        $('health').innerHTML = s.health.length ? '<span class="bad">' + s.health.join('; ') + '</span>' : '<span class="ok">healthy</span>';
        $('status').innerHTML = row(['version', s.version]) + row(['site', s.site]) + row(['broker', s.broker.connected ? 'connected' : 'disconnected'])
          + row(['directory cache age (s)', s.directory.cache_age_s]) + row(['loop lag p99 (ms)', s.loop_lag_ms.p99.toFixed(3)]);
        const p = await api('pairings');
        $('limit').textContent = p.cooldown_s ? 'Too many wrong codes: wait ' + p.cooldown_s + ' s.' : p.attempts_left + ' wrong codes left in this window.';
        $('pending').innerHTML = row(['waiting panel', 'kind', 'model', 'fingerprint', 'state', 'code expires in (s)']) + p.pending.map(x => row([x.device_id, x.kind, x.model, x.fingerprint, x.state, x.expires_in_s])).join('');
        const d = await api('devices');
        $('devices').innerHTML = row(['id', 'kind', 'model', 'resource', 'name', 'online', 'paired', 'last seen']) + d.devices.map(x => row([x.id, x.kind, x.model, x.resource, x.name, x.disabled ? 'disabled' : x.online == null ? '?' : x.online ? 'online' : 'offline', x.paired_at ? new Date(x.paired_at * 1000).toLocaleString() : x.origin, x.last_seen ? new Date(x.last_seen * 1000).toLocaleString() : 'never'])).join('');
        const n = await api('sensors');
        $('sensors').innerHTML = row(['DevEUI', 'model', 'resource', 'readings']) + n.sensors.map(x => row([x.dev_eui, x.model, x.resource, x.latest.map(r => r.kind + ' ' + r.value + ' ' + r.unit).join(', ')])).join('');
      } catch (e) { $('login').hidden = false; $('main').hidden = true; if (sessionStorage.token) alert(e); }
    }
    const post = (p, body) => fetch('/api/v1/' + p, {method: 'POST', headers: {Authorization: 'Bearer ' + sessionStorage.token, 'Content-Type': 'application/json'}, body: JSON.stringify(body)})
      .then(r => r.json().then(j => r.ok ? j : Promise.reject(j.message)));
    const pairing = () => ({code: $('code').value, resource: $('resource').value, name: $('pname').value || undefined});
    $('find').onclick = async () => {
      try {
        const f = await post('pairings', Object.assign(pairing(), {confirm: false}));
        $('found').innerHTML = '';
        $('found').append('Panel ' + f.device_id + ' (' + f.kind + ' ' + f.model + '), fingerprint ', Object.assign(document.createElement('b'), {textContent: f.fingerprint}), ' ');
        const ok = Object.assign(document.createElement('button'), {textContent: 'It matches the screen: pair'});
        ok.onclick = async () => {
          try {
            await post('pairings', pairing());
            for (let i = 0; i < 50; i++) {
              const s = await api('pairings/' + f.device_id);
              if (s.status !== 'approving') { $('found').textContent = f.device_id + ': ' + s.status + (s.reason ? ' (' + s.reason + ')' : ''); break; }
              await new Promise(r => setTimeout(r, 200));
            }
          } catch (e) { $('found').textContent = e; }
          load();
        };
        $('found').append(ok);
      } catch (e) { $('found').textContent = e; load(); }
    };
    $('go').onclick = () => { sessionStorage.token = $('token').value.trim(); load(); };
    if (sessionStorage.token) load();
    </script></body></html>
    """
}
