import { Controller, Delete, Get, HttpCode, NotFoundException, Param, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard.js';
import { TAGS } from '../openapi/tags.js';
import { ApiAdminAuth } from '../openapi/security.js';
import { ConnectionRegistry } from './connection-registry.js';
import type { Connection } from './dto/connection.dto.js';
import { ApiKickConnection, ApiListConnections } from './streams.openapi.js';

@Controller('v1/admin/connections')
@UseGuards(AdminGuard)
@ApiTags(TAGS.connections)
@ApiAdminAuth()
export class AdminConnectionsController {
  constructor(private readonly registry: ConnectionRegistry) {}

  @Get()
  @ApiListConnections()
  list(): Connection[] {
    return this.registry.list();
  }

  /** Kick: the stream gets `event: close` (`kicked`); the client may reconnect and resume. */
  @Delete(':id')
  @HttpCode(204)
  @ApiKickConnection()
  kick(@Param('id') id: string): void {
    const subscription = this.registry.get(id);
    if (!subscription) throw new NotFoundException(`no connection ${JSON.stringify(id)}`);
    subscription.close('kicked');
  }
}
