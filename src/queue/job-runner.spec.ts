import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { strictMock, strictValue } from '../../test/strict-mock.js';
import type { AppConfig } from '../config/config.js';
import type { RedisEndpoint } from '../redis/redis-endpoint.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { ProjectionService } from '../training/projection.service.js';
import { PipelineService } from '../pipeline/pipeline.service.js';
import { OnJob, OnJobExhausted } from './job-handler.decorator.js';
import { JobRunner } from './job-runner.js';
import { JobName } from './jobs.js';

class Converter {
  @OnJob(JobName.ConvertScan)
  convert(): Promise<void> {
    return Promise.resolve();
  }

  @OnJobExhausted(JobName.ConvertScan)
  exhausted(): Promise<void> {
    return Promise.resolve();
  }
}

class Renderer {
  @OnJob(JobName.RenderScan)
  render(): Promise<void> {
    return Promise.resolve();
  }
}

class Deliverer {
  @OnJob(JobName.DeliverResult)
  deliver(): Promise<void> {
    return Promise.resolve();
  }
}

class Projector {
  @OnJob(JobName.ProjectThreat)
  project(): Promise<void> {
    return Promise.resolve();
  }
}

class SecondConverter {
  @OnJob(JobName.ConvertScan)
  again(): Promise<void> {
    return Promise.resolve();
  }
}

/** Runs discovery over these provider instances (undefined: a provider not instantiated, e.g. request-scoped). */
function discover(...instances: unknown[]): void {
  const wrappers = instances.map((instance, i) => new InstanceWrapper({ name: `provider-${i}`, instance }));
  const discovery = strictMock(DiscoveryService, { getProviders: () => wrappers });
  const runner = new JobRunner(strictValue<AppConfig>('AppConfig', {}), strictValue<RedisEndpoint>('RedisEndpoint', {}), discovery, new MetadataScanner());
  runner.discover();
}

describe(JobRunner.name, () => {
  describe('discover', () => {
    it('accepts one handler per job name, among providers without handlers', () => {
      expect(() => discover(new Converter(), undefined, 'a value provider', { plain: true }, new Renderer(), new Deliverer(), new Projector())).not.toThrow();
    });

    it('finds a handler for every job in the services of niix', () => {
      expect(() => discover(
          Object.create(PipelineService.prototype) as PipelineService,
          Object.create(DeliveryService.prototype) as DeliveryService,
          Object.create(ProjectionService.prototype) as ProjectionService,
        )).not.toThrow();
    });

    it('throws naming the job that has no handler', () => {
      expect(() => discover(new Converter())).toThrow(`job ${JobName.RenderScan} has no handler (@OnJob)`);
    });

    it('throws naming both places when a job has two handlers', () => {
      expect(() => discover(new Converter(), new Renderer(), new Deliverer(), new Projector(), new SecondConverter())).toThrow(
        `job ${JobName.ConvertScan} has 2 handlers: Converter.convert, SecondConverter.again`,
      );
    });
  });
});
