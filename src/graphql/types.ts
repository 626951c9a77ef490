// Every node, query, mutation and subscription registers itself with the builder when imported.
import "./nodes/health.js";
import "./nodes/api-key.js";
import "./nodes/event.js";
import "./nodes/usage-bucket.js";
import "./nodes/log-verification.js";
import "./mutations/create-api-key.js";
import "./mutations/set-key-status.js";
import "./mutations/update-api-key.js";
import "./mutations/revoke-api-key.js";
import "./mutations/verify-api-key.js";
import "./mutations/add-credits.js";
import "./mutations/rotate-api-key.js";
import "./subscriptions/key-used.js";
import "./subscriptions/key-changed.js";
import "./subscriptions/events.js";
