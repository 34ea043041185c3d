import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { ActiveAlert, FigureName } from '../../monitoring/figures.js';
import { COMPARISONS, ISO_TIME, SEVERITIES } from '../alert-model.js';

/** A pending or firing alert, as `GET /v1/admin/alerts/active` shows it. */
@ApiSchema({ name: 'LiveAlert', description: 'An alert whose condition holds now.' })
export class LiveAlertView implements ActiveAlert {
  @ApiProperty({ type: 'string', example: 'capacity-high' })
  ruleId!: string;

  @ApiProperty({ type: 'string', example: 'Capacity high' })
  name!: string;

  @ApiProperty({ enum: [...SEVERITIES], example: 'critical' })
  severity!: string;

  @ApiProperty({ type: 'number', example: 0.93 })
  value!: number;

  @ApiProperty({
    ...ISO_TIME,
    description: 'Since when it is pending, or when it fired.',
    example: '2026-11-18T09:24:00.000Z',
  })
  startedAt!: string;

  @ApiProperty({
    enum: ['pending', 'firing'],
    description: '`pending` while the condition has held for less than `forSeconds`.',
    example: 'firing',
  })
  state!: 'pending' | 'firing';

  @ApiProperty({ type: 'string', example: 'capacity_ratio' satisfies FigureName })
  metric!: string;

  @ApiProperty({ enum: [...COMPARISONS], example: '>=' })
  op!: string;

  @ApiProperty({ type: 'number', example: 0.9 })
  threshold!: number;
}
