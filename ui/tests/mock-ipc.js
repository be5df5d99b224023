// Installed in the page before the app loads: a stand-in for the Tauri IPC, so
// every screen can be driven in plain Chromium. Tests set `window.__mock.handlers`
// (command name → function of the arguments; throw `{code, message}` for an error)
// and push events with `window.__mock.emit(name, payload)`.
(() => {
  const listeners = {};
  let nextId = 1;
  const mock = {
    calls: [],
    handlers: {},
    emit(event, payload) {
      for (const id of listeners[event] ?? []) window[`_${id}`]?.({ event, id, payload });
    },
  };
  window.__mock = mock;
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener() {} };
  window.__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
    transformCallback(callback, once) {
      const id = nextId++;
      window[`_${id}`] = (payload) => {
        if (once) delete window[`_${id}`];
        callback(payload);
      };
      return id;
    },
    unregisterCallback(id) {
      delete window[`_${id}`];
    },
    async invoke(cmd, args) {
      mock.calls.push({ cmd, args });
      if (cmd === "plugin:event|listen") {
        (listeners[args.event] ??= []).push(args.handler);
        return args.handler;
      }
      if (cmd.startsWith("plugin:event|")) return null;
      const handler = mock.handlers[cmd];
      if (!handler) throw { code: "internal", message: `no mock for ${cmd}` };
      return handler(args);
    },
  };
})();
