// The live connection: EventSource on GET /live. The server sends `retry:` so the browser reconnects
// by itself after a receiver restart; on every reconnect the page refetches what it shows (events
// sent while it was away are not replayed). If the stream is refused outright (EventSource gives up
// with readyState CLOSED) we open a new one after a pause.

/**
 * @param {{
 *   onUpdate: (update: { at: string, services: string[] }) => void,
 *   onReconnect: () => void,
 *   onState: (state: 'live' | 'reconnecting') => void,
 * }} handlers
 */
export function connectLive(handlers) {
  let everOpened = false;
  /** @type {EventSource | null} */
  let source = null;
  const open = () => {
    source = new EventSource('/live');
    source.addEventListener('open', () => {
      handlers.onState('live');
      if (everOpened) handlers.onReconnect();
      everOpened = true;
    });
    source.addEventListener('error', () => {
      handlers.onState('reconnecting');
      if (source && source.readyState === EventSource.CLOSED) {
        source = null;
        setTimeout(open, 3000);
      }
    });
    source.addEventListener('update', (event) => {
      let update;
      try { update = JSON.parse(/** @type {MessageEvent} */ (event).data); } catch { return; }
      if (update && Array.isArray(update.services)) handlers.onUpdate(update);
    });
  };
  open();
}
