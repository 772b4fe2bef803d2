import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';

/** Time and ids: injectable so rules can be tested at a chosen moment. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }

  newId(): string {
    return randomUUID();
  }
}
