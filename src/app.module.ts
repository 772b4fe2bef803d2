import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { AuditRepository } from './audit/audit.repository.js';
import { AuthController } from './auth/auth.controller.js';
import { AuthGuard } from './auth/auth.guard.js';
import { AuthService } from './auth/auth.service.js';
import { Secrets } from './auth/secrets.js';
import { UserRepository } from './auth/user.repository.js';
import { ApiErrorFilter } from './common/api-error.filter.js';
import { IdParamsInterceptor } from './common/id-params.interceptor.js';
import { Clock } from './common/clock.js';
import { OpenApiController } from './common/openapi.controller.js';
import { OpenApiService } from './common/openapi.service.js';
import { APP_CONFIG, type AppConfig } from './config/config.js';
import { DatabaseModule } from './database/database.module.js';
import { InstallationRepository } from './database/installation.repository.js';
import { HealthController } from './health/health.controller.js';
import { IngestController } from './ingest/ingest.controller.js';
import { IngestService } from './ingest/ingest.service.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { MetricsScrapeService } from './metrics/metrics-scrape.service.js';
import { MetricsService } from './metrics/metrics.service.js';
import { adapterRegistryProvider } from './pipeline/adapters.provider.js';
import { ConversionProcesses } from './pipeline/conversion.process.js';
import { PipelineService } from './pipeline/pipeline.service.js';
import { JobRunner } from './queue/job-runner.js';
import { QueueRepository } from './queue/queue.repository.js';
import { ReconcileService } from './reconcile/reconcile.service.js';
import { RedisModule } from './redis/redis.module.js';
import { RedisPrefixService } from './redis/redis-prefix.service.js';
import { DeliveryController } from './delivery/delivery.controller.js';
import { DeliveryService } from './delivery/delivery.service.js';
import { WebhookTransport } from './delivery/webhook.transport.js';
import { ResultEventsRepository } from './results/result-events.repository.js';
import { ResultRepository } from './results/result.repository.js';
import { ResultsController } from './results/results.controller.js';
import { ResultsService } from './results/results.service.js';
import { CaseRecordService } from './review/case-record.service.js';
import { PoolsController } from './review/pools.controller.js';
import { ReviewQueueRepository } from './review/review-queue.repository.js';
import { ReviewRepository } from './review/review.repository.js';
import { VerdictService } from './review/verdict.service.js';
import { WorklistController } from './review/worklist.controller.js';
import { WorklistService } from './review/worklist.service.js';
import { PlaneTilesService } from './scans/plane-tiles.service.js';
import { ScanObjectsWriter } from './scans/scan-objects.writer.js';
import { ScanRepository } from './scans/scan.repository.js';
import { ScanImagesController } from './scans/scan-images.controller.js';
import { ScansController } from './scans/scans.controller.js';
import { ScansService } from './scans/scans.service.js';
import { StationRepository } from './stations/station.repository.js';
import { StationsController } from './stations/stations.controller.js';
import { StationsService } from './stations/stations.service.js';
import { StorageModule } from './storage/storage.module.js';
import { ProjectionService } from './training/projection.service.js';
import { ThreatLibraryService } from './training/threat-library.service.js';
import { TrainingController } from './training/training.controller.js';
import { TrainingExportService } from './training/training-export.service.js';
import { TrainingRepository } from './training/training.repository.js';
import { TrainingScoresService } from './training/training-scores.service.js';
import { TrainingSessionsController } from './training/training-sessions.controller.js';
import { TrainingSessionsService } from './training/training-sessions.service.js';
import { TrainingSetsService } from './training/training-sets.service.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [DiscoveryModule, DatabaseModule, RedisModule, StorageModule],
      controllers: [
        AuthController,
        StationsController,
        IngestController,
        ScansController,
        ScanImagesController,
        TrainingController,
        TrainingSessionsController,
        WorklistController,
        PoolsController,
        ResultsController,
        DeliveryController,
        HealthController,
        MetricsController,
        OpenApiController,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ApiErrorFilter },
        { provide: APP_INTERCEPTOR, useClass: IdParamsInterceptor },
        adapterRegistryProvider,
        AuditRepository,
        AuthService,
        CaseRecordService,
        Clock,
        ConversionProcesses,
        DeliveryService,
        IngestService,
        InstallationRepository,
        JobRunner,
        MetricsScrapeService,
        MetricsService,
        OpenApiService,
        PipelineService,
        PlaneTilesService,
        ProjectionService,
        QueueRepository,
        ReconcileService,
        RedisPrefixService,
        ResultEventsRepository,
        ResultRepository,
        ResultsService,
        ReviewQueueRepository,
        ReviewRepository,
        ScanObjectsWriter,
        ScanRepository,
        ScansService,
        Secrets,
        StationRepository,
        StationsService,
        ThreatLibraryService,
        TrainingExportService,
        TrainingRepository,
        TrainingScoresService,
        TrainingSessionsService,
        TrainingSetsService,
        UserRepository,
        VerdictService,
        WebhookTransport,
        WorklistService,
      ],
      exports: [APP_CONFIG],
    };
  }
}
