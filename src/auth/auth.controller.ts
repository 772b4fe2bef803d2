import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { z } from 'zod';
import { ApiDoc, ValidBody } from '../common/contract.js';
import { Public, Roles } from './auth.decorators.js';
import { AuthService, createUserBody, loginBody, loginResponse, userResponse } from './auth.service.js';

@Controller('api/v1')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('auth/login')
  @HttpCode(200)
  @Public()
  @ApiDoc({ summary: 'Sign in; send the token as Authorization: Bearer <token>', auth: 'none', tags: ['auth'], responses: { 200: loginResponse } })
  login(@ValidBody(loginBody) body: z.infer<typeof loginBody>) {
    return this.auth.login(body);
  }

  @Post('users')
  @Roles('admin')
  @ApiDoc({ summary: 'Create a user with roles', auth: 'user', tags: ['users'], responses: { 201: userResponse } })
  createUser(@ValidBody(createUserBody) body: z.infer<typeof createUserBody>) {
    return this.auth.createUser(body);
  }

  @Get('users')
  @Roles('admin')
  @ApiDoc({ summary: 'List users', auth: 'user', tags: ['users'], responses: { 200: z.array(userResponse) } })
  listUsers() {
    return this.auth.listUsers();
  }
}
