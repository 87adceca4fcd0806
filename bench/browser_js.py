"""The page-side halves of ``bench.browser``: JavaScript evaluated in JupyterLab's page.

Every time is the page's own (``performance.now()``); the floors are measured in the same
page as the output they bound, against the same virtual file's URL.
"""

from __future__ import annotations

#: Collects long tasks for the whole page; armed once per page.
LONGTASKS_JS = """() => {
    if (window.__vfsLong) return;
    window.__vfsLong = [];
    performance.setResourceTimingBufferSize(100000);  // LAST_FILE_URL_JS needs the newest
    new PerformanceObserver(list => {
        for (const e of list.getEntries()) window.__vfsLong.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
}"""

#: Arms one measurement: t0 at the next Shift+Enter, t1 when ``kind`` is drawn in the cell.
ARM_JS = """([cell, kind]) => {
    window.__vfsResult = null;
    for (const el of cell.querySelectorAll('img, .js-plotly-plot')) el.dataset.vfsOld = '1';
    let t0 = null;
    const onKey = e => {
        if (e.key === 'Enter' && e.shiftKey) {
            t0 = performance.now();
            document.removeEventListener('keydown', onKey, true);
        }
    };
    document.addEventListener('keydown', onKey, true);
    const done = t1 => {
        const long = window.__vfsLong.filter(([s, d]) => s + d >= t0 && s <= t1);
        window.__vfsResult = {ms: t1 - t0, long: long.map(([s, d]) => d)};
    };
    const check = () => {
        if (t0 !== null && kind === 'img') {
            const img = cell.querySelector('.jp-OutputArea-output img:not([data-vfs-old])');
            if (img && img.complete && img.naturalWidth > 0) {
                img.decode().then(() => done(performance.now()), () => done(performance.now()));
                return;
            }
        }
        if (t0 !== null && kind === 'plotly') {
            const gd = cell.querySelector('.js-plotly-plot:not([data-vfs-old])');
            if (gd && gd._fullData && gd._fullData.length && gd.querySelector('canvas')) {
                requestAnimationFrame(() => done(performance.now()));
                return;
            }
        }
        requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
}"""

#: The URL of the newest virtual file the page requested (the image just shown).
LAST_FILE_URL_JS = """() => performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/@file/')).map(e => e.name.split('?')[0]).pop()"""

#: The issue's floor, second half: a ``no-store`` fetch of the URL and its decode, both off the
#: main thread (``createImageBitmap``), in ms.
FLOOR_FETCH_JS = """async url => {
    const t = performance.now();
    const r = await fetch(url, {cache: 'no-store'});
    const bmp = await createImageBitmap(await r.blob());
    bmp.close();
    return performance.now() - t;
}"""

#: The browser's own image element: a detached ``<img>`` of the same URL (a query of its own,
#: so no cache answers), from ``src`` set to ``img.decode()`` resolved, in ms.
FLOOR_IMG_JS = """async url => {
    const img = new Image();
    const t = performance.now();
    img.src = url + '?floor=' + Math.random().toString(36).slice(2);
    await img.decode();
    return performance.now() - t;
}"""

#: The blob way without the extension: a ``no-store`` fetch into a Blob, an object URL, a
#: detached ``<img>`` decoding it, in ms.
FLOOR_BLOB_JS = """async url => {
    const t = performance.now();
    const r = await fetch(url, {cache: 'no-store'});
    const u = URL.createObjectURL(await r.blob());
    const img = new Image();
    img.src = u;
    await img.decode();
    URL.revokeObjectURL(u);
    return performance.now() - t;
}"""


# -- bench.browser --breakdown ------------------------------------------------------------

#: Timestamps each websocket frame (direction, message type) before JupyterLab sees it.
WS_INIT_JS = """(() => {
    const log = window.__vfsWs = [];
    performance.setResourceTimingBufferSize(100000);  // JupyterLab's own fill the default 250
    const kind = data => {
        let text = '';
        if (typeof data === 'string') text = data.slice(0, 4000);
        else if (data instanceof ArrayBuffer)
            text = new TextDecoder().decode(
                new Uint8Array(data, 0, Math.min(4000, data.byteLength)));
        const types = [...text.matchAll(/"msg_type"\\s*:\\s*"(\\w+)"/g)].map(m => m[1]);
        return types.find(t => t !== 'execute_request') || types[0] || '?';
    };
    const Native = window.WebSocket;
    const send = Native.prototype.send;
    Native.prototype.send = function (data) {
        log.push([performance.now(), 'out', kind(data)]);
        return send.call(this, data);
    };
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener('message',
                e => log.push([performance.now(), 'in', kind(e.data)]));
        }
    };
})();"""

#: Arms one run of ``cell``: marks from the keydown until the new image is decoded and framed.
BREAKDOWN_ARM_JS = """cell => {
    window.__vfsMarks = null;
    for (const el of cell.querySelectorAll('img')) el.dataset.vfsOld = '1';
    const m = {};
    const mark = k => { if (!(k in m)) m[k] = performance.now(); };
    let from = 0;
    const onKey = e => {
        if (e.key === 'Enter' && e.shiftKey) {
            mark('key');
            from = window.__vfsWs.length;
            document.removeEventListener('keydown', onKey, true);
        }
    };
    document.addEventListener('keydown', onKey, true);
    const finish = img => {
        mark('loaded');
        img.decode().catch(() => null).then(() => {
            mark('decoded');
            requestAnimationFrame(() => {
                mark('frame');
                observer.disconnect();
                const ws = window.__vfsWs.slice(from);
                const first = (dir, type) =>
                    (ws.find(w => w[1] === dir && w[2] === type) || [null])[0];
                m.sent = first('out', 'execute_request');
                m.display = first('in', 'display_data');
                m.reply = first('in', 'execute_reply');
                // The file's GET, by <img src> or by fetch (the blob way): the newest one.
                const res = performance.getEntriesByType('resource')
                    .filter(e => e.name.includes('/@file/') && e.startTime >= m.key).pop();
                const keys = ['startTime', 'requestStart', 'responseStart', 'responseEnd'];
                if (res) for (const k of keys) m['res_' + k] = res[k];
                window.__vfsMarks = m;
            });
        });
    };
    const observer = new MutationObserver(() => {
        if (!('key' in m)) return;
        const out = cell.querySelector('.jp-OutputArea-output');
        if (out && !out.querySelector('[data-vfs-old]')) mark('output');
        const ref = cell.querySelector('.jp-VfsReference');
        const state = ref && ref.dataset.vfsState;
        if (state === 'loading' || state === 'loaded') mark('src');
        const img = cell.querySelector('.jp-OutputArea-output img:not([data-vfs-old])');
        if (img && !img.dataset.vfsWatched) {
            img.dataset.vfsWatched = '1';
            if (img.complete && img.naturalWidth) finish(img);
            else img.addEventListener('load', () => finish(img), {once: true});
        }
    });
    observer.observe(cell, {subtree: true, childList: true, attributes: true,
                            attributeFilter: ['data-vfs-state', 'src']});
}"""

#: The floor's second half, with the resource timing of its GET.
FLOOR_FETCH_PARTS_JS = """async url => {
    const t = performance.now();
    const r = await fetch(url, {cache: 'no-store'});
    const blob = await r.blob();
    const body = performance.now();
    const bmp = await createImageBitmap(blob);
    bmp.close();
    const end = performance.now();
    const res = performance.getEntriesByName(new URL(url, location.href).href)
        .filter(e => e.initiatorType === 'fetch').pop();
    return {start: t, requestStart: res.requestStart, responseStart: res.responseStart,
            responseEnd: res.responseEnd, body, decoded: end};
}"""
