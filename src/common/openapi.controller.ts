import { Controller, Get } from '@nestjs/common';
import { Public } from '../auth/auth.decorators.js';
import { OpenApiService } from './openapi.service.js';

@Controller('api/docs')
@Public()
export class OpenApiController {
  constructor(private readonly openApi: OpenApiService) {}

  /** The OpenAPI 3.1 document, generated from the routes at start (also committed as docs/openapi.json). */
  @Get()
  document() {
    return this.openApi.document();
  }
}
