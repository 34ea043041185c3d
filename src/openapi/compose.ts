import { applyDecorators } from '@nestjs/common';

/**
 * One decorator made of several, applied bottom-up as if they were stacked on
 * the method in this order, so parameters keep the order the document has.
 */
export function composed(...decorators: MethodDecorator[]): MethodDecorator {
  return applyDecorators(...decorators.reverse());
}
