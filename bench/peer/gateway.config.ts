// Hive Gateway settings for the benchmark (found first by `hive-gateway`, so it does not
// load mesh.config.ts, which is only for `mesh-compose`). Defaults otherwise: no response
// cache, no Hive/Apollo reporting, nothing leaves 127.0.0.1.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  logging: 'warn',
});
