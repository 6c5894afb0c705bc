/*
 * Catalogue gateway: GraphiQL bootstrap.
 *
 * Loaded as a same-origin static file because the page's Content-Security-Policy forbids
 * inline scripts. The configuration comes from the non-executable JSON block
 * <script type="application/json" id="graphiql-config"> rendered by gateway/graphiql.py:
 *   {"endpoint": "/graphql", "defaultQuery": "...", "defaultHeaders": "{...}" | null,
 *    "title": "..."}
 * Every asset (React, ReactDOM, GraphiQL, the explorer plugin) is served by the gateway;
 * nothing here contacts another origin.
 */
(function () {
  "use strict";

  function readConfig() {
    var node = document.getElementById("graphiql-config");
    if (!node) {
      return {};
    }
    try {
      return JSON.parse(node.textContent || "{}");
    } catch (err) {
      console.error("graphiql-config is not valid JSON", err);
      return {};
    }
  }

  function showError(root, message) {
    root.textContent = "";
    var box = document.createElement("pre");
    box.className = "gateway-graphiql-error";
    box.textContent = message;
    root.appendChild(box);
  }

  function start() {
    var root = document.getElementById("graphiql");
    if (!root) {
      return;
    }
    if (!window.React || !window.ReactDOM || !window.GraphiQL) {
      showError(root, "GraphiQL assets failed to load (React, ReactDOM or GraphiQL missing).");
      return;
    }
    var config = readConfig();
    var endpoint = config.endpoint || "/graphql";
    // Absolute URL on this origin: the CSP (connect-src 'self') allows nothing else.
    var url = new URL(endpoint, window.location.origin).href;
    var fetcher = window.GraphiQL.createFetcher({ url: url });

    var plugins = [];
    var explorer = window.GraphiQLPluginExplorer;
    if (explorer && typeof explorer.explorerPlugin === "function") {
      try {
        plugins.push(explorer.explorerPlugin());
      } catch (err) {
        console.warn("GraphiQL explorer plugin disabled", err);
      }
    }

    var props = {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery || "",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      plugins: plugins,
    };
    if (config.defaultHeaders) {
      props.defaultHeaders = config.defaultHeaders;
      // Open the headers pane so the pre-filled headers are visible.
      props.defaultEditorToolsVisibility = "headers";
    }

    var h = window.React.createElement;
    var logo = h(window.GraphiQL.Logo, null, config.title || "GraphiQL");
    var app = h(window.GraphiQL, props, logo);
    window.ReactDOM.createRoot(root).render(app);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
