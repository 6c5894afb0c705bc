// One JSON-schema subgraph per simulated CKAN platform, composed into one supergraph.
//
// The platforms' base URLs (PEER_UPSTREAMS, a JSON list) and the package_search
// parameters every call carries (PEER_FIXED_PARAMS, a JSON object: the sort, exactly
// what the Python gateway sends) come from the environment; bench/federation.py
// (scenario `peer`) sets both and runs `mesh-compose -o supergraph.graphql` here. Each
// platform answers `source<i>(q: String, rows: Int, start: Int, fq: String):
// PackageSearchResponse`; `fq` is an argument so that each request can carry the filter
// the Python gateway sends for it (its visibility clause, plus a modifiedBefore bound in
// the all-distinct load).
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
            fq: { type: 'string' },
          },
          queryParamArgMap: { q: 'q', rows: 'rows', start: 'start', fq: 'fq' },
          responseSchema: './ckan-package-search.schema.json',
          responseTypeName: `Source${i}PackageSearch`,
        },
      ],
    }),
  })),
});
