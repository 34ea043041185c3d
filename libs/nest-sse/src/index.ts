export { EncodedFrame, toFrame, type MessageEvent, type StreamItem } from './encoded-frame.js';
export {
  CLIENT_GONE,
  COMPLETED,
  EventStream,
  EventStreams,
  type CloseOptions,
  type EventStreamOptions,
} from './event-stream.js';
export { Sse, SseStream, type SseOptions } from './sse.decorator.js';
export { TimerWheel, type Timed } from './timer-wheel.js';
