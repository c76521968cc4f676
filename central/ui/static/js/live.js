// Live events over Socket.IO. Every payload passes through ``normalise`` (keys to camelCase, as
// the REST API spells them), and the rooms' join messages are built in ``JOIN`` below: a change
// of the events' key casing on the server is absorbed here, in one place (docs/ui.md).

import { io } from "../vendor/socket.io.esm.min.js";

const camel = (key) => key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** Deep copy of ``value`` with every object key in camelCase. */
export function normalise(value) {
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), normalise(v)]));
  }
  return value;
}

const JOIN = {
  dashboard: () => ["join_dashboard", {}],
  session: (id) => ["join_test_session", { test_session_id: id }],
  video: (id) => ["join_annotation_session", { video_id: id }],
};

export const EVENTS = [
  "rig_status",
  "session_progress",
  "detection_event",
  "test_completed",
  "annotation_update",
  "video_uploaded",
  "project_created",
];

/** One connection per page; views subscribe to events and to rooms while they are shown. */
export class Live {
  constructor(onState) {
    this.handlers = new Map(EVENTS.map((name) => [name, new Set()]));
    this.rooms = new Map();
    this.onState = onState;
    this.socket = null;
  }

  connect(bearer) {
    this.socket?.disconnect();
    const socket = io({ auth: bearer ? { token: bearer } : {}, transports: ["websocket", "polling"] });
    this.socket = socket;
    socket.on("connect", () => {
      this.onState("live", "live");
      for (const [key, make] of this.rooms) socket.emit(...make(key));
    });
    socket.on("disconnect", () => this.onState("reconnecting…", "offline"));
    socket.on("connect_error", (error) => this.onState(`not live: ${error.message}`, "offline"));
    for (const name of EVENTS) {
      socket.on(name, (payload) => {
        const data = normalise(payload);
        for (const handler of this.handlers.get(name)) handler(data);
      });
    }
    this.join("dashboard");
  }

  /** Join a room (again after every reconnect); ``kind`` is a key of JOIN. */
  join(kind, id) {
    const key = id === undefined ? kind : `${kind}:${id}`;
    const make = () => JOIN[kind](id);
    this.rooms.set(key, make);
    if (this.socket?.connected) this.socket.emit(...make());
  }

  /** Subscribe; returns the function that unsubscribes. */
  on(name, handler) {
    this.handlers.get(name).add(handler);
    return () => this.handlers.get(name).delete(handler);
  }
}
