import { Controller, Delete, Get, HttpCode, NotFoundException, Param, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../auth/admin.guard.js';
import { ConnectionRegistry, type ConnectionView } from './connection-registry.js';

@Controller('v1/admin/connections')
@UseGuards(AdminGuard)
export class AdminConnectionsController {
  constructor(private readonly registry: ConnectionRegistry) {}

  @Get()
  list(): ConnectionView[] {
    return this.registry.list();
  }

  /** Kick: the stream gets `event: close` (`kicked`); the client may reconnect and resume. */
  @Delete(':id')
  @HttpCode(204)
  kick(@Param('id') id: string): void {
    const subscription = this.registry.get(id);
    if (!subscription) throw new NotFoundException(`no connection ${JSON.stringify(id)}`);
    subscription.close('kicked');
  }
}
