import { Module } from '@nestjs/common';
import { ClientAssetsController } from './client-assets.controller.js';

/** Serves the browser client bundles and the fleet example page (docs/client.md). */
@Module({ controllers: [ClientAssetsController] })
export class ClientAssetsModule {}
