// One JSON-schema subgraph per simulated CKAN platform, composed into one supergraph.
//
// The platforms' base URLs (PEER_UPSTREAMS, a JSON list) and the package_search
// parameters every call carries (PEER_FIXED_PARAMS, a JSON object: the anonymous
// caller's visibility filter `fq` and the sort, exactly what the Python gateway sends)
// come from the environment; bench/federation.py (scenario `peer`) sets both and runs
// `mesh-compose -o supergraph.graphql` here. Each platform answers
// `source<i>(q: String, rows: Int, start: Int): PackageSearchResponse`.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadJSONSchemaSubgraph } from '@omnigraph/json-schema';

const upstreams: string[] = JSON.parse(process.env.PEER_UPSTREAMS ?? '[]');
const fixedParams: Record<string, string> = JSON.parse(process.env.PEER_FIXED_PARAMS ?? '{}');
if (upstreams.length === 0) {
  throw new Error('set PEER_UPSTREAMS to a JSON list of CKAN base URLs');
}

export const composeConfig = defineConfig({
  subgraphs: upstreams.map((endpoint, i) => ({
    sourceHandler: loadJSONSchemaSubgraph(`source${i}`, {
      endpoint,
      queryParams: fixedParams,
      operations: [
        {
          type: 'Query',
          field: `source${i}`,
          path: '/api/3/action/package_search',
          method: 'GET',
          argTypeMap: {
            q: { type: 'string' },
            rows: { type: 'integer' },
            start: { type: 'integer' },
          },
          queryParamArgMap: { q: 'q', rows: 'rows', start: 'start' },
          responseSchema: './ckan-package-search.schema.json',
          responseTypeName: `Source${i}PackageSearch`,
        },
      ],
    }),
  })),
});
