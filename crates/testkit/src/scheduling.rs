//! Builders for scheduling tests: clinics, services, providers with availability, patients.

use crate::{TestApp, TestUser};
use praxis_domain::{ClinicId, Role, ServiceId};
use praxis_services::Actor;
use praxis_services::availability::WindowInput;
use praxis_services::catalog::{Clinic, ClinicInput, Provider, ProviderInput, Service, ServiceInput, ServiceMode};
use praxis_services::patients::Patient;

/// A clinic, a provider working there Monday–Friday 09:00–17:00, one individual service
/// (50 minutes + 10 minutes buffer after, 15-minute grid), and a patient with a portal
/// account.
pub struct Fixture {
    /// Sydney clinic.
    pub clinic: Clinic,
    /// The service.
    pub service: Service,
    /// The provider's account.
    pub provider_user: TestUser,
    /// The provider.
    pub provider: Provider,
    /// A patient's portal account.
    pub patient_user: TestUser,
    /// That patient's record.
    pub patient: Patient,
}

fn admin() -> Actor {
    Actor::system("test")
}

impl TestApp {
    /// A clinic in `zone`.
    pub async fn clinic(&self, name: &str, zone: &str) -> Clinic {
        self.svc
            .create_clinic(
                &admin(),
                ClinicInput {
                    name: name.into(),
                    address: "1 Test Street".into(),
                    time_zone: zone.into(),
                    ..ClinicInput::default()
                },
            )
            .await
            .unwrap()
    }

    /// A service; unspecified fields take the API defaults.
    pub async fn service(&self, input: ServiceInput) -> Service {
        self.svc.create_service(&admin(), input).await.unwrap()
    }

    /// A 50-minute individual consultation with a 10-minute buffer after.
    pub async fn consultation(&self) -> Service {
        self.service(ServiceInput {
            name: "Consultation".into(),
            duration_minutes: Some(50),
            buffer_after_minutes: Some(10),
            slot_step_minutes: Some(15),
            price_minor: Some(12000),
            currency: Some("AUD".into()),
            late_cancellation_minutes: Some(24 * 60),
            ..ServiceInput::default()
        })
        .await
    }

    /// A group session for `capacity` patients.
    pub async fn group_service(&self, capacity: i64) -> Service {
        self.service(ServiceInput {
            name: "Group session".into(),
            duration_minutes: Some(60),
            slot_step_minutes: Some(60),
            capacity: Some(capacity),
            ..ServiceInput::default()
        })
        .await
    }

    /// A video consultation.
    pub async fn video_service(&self) -> Service {
        self.service(ServiceInput {
            name: "Video consultation".into(),
            duration_minutes: Some(30),
            mode: Some(ServiceMode::Video),
            ..ServiceInput::default()
        })
        .await
    }

    /// A provider account and profile working at `clinics`, offering `services`.
    pub async fn provider(&self, clinics: &[ClinicId], services: &[ServiceId]) -> (TestUser, Provider) {
        let user = self.create_user(&[Role::Provider]).await;
        let provider = self
            .svc
            .create_provider(
                &admin(),
                ProviderInput {
                    user_id: Some(user.id),
                    title: "Clinical Psychologist".into(),
                    clinic_ids: clinics.to_vec(),
                    service_ids: services.to_vec(),
                    ..ProviderInput::default()
                },
            )
            .await
            .unwrap();
        (user, provider)
    }

    /// Adds a weekly window.
    pub async fn weekly(&self, provider: &Provider, clinic: ClinicId, weekday: &str, start: &str, end: &str) {
        self.svc
            .add_window(
                &admin(),
                provider.id,
                WindowInput {
                    clinic_id: Some(clinic),
                    weekday: weekday.into(),
                    start: start.into(),
                    end: end.into(),
                    valid_from: None,
                    valid_until: None,
                },
            )
            .await
            .unwrap();
    }

    /// Monday to Friday, `start`–`end`.
    pub async fn weekdays(&self, provider: &Provider, clinic: ClinicId, start: &str, end: &str) {
        for d in ["monday", "tuesday", "wednesday", "thursday", "friday"] {
            self.weekly(provider, clinic, d, start, end).await;
        }
    }

    /// A patient with a portal account.
    pub async fn patient_user(&self) -> (TestUser, Patient) {
        let user = self.create_user(&[Role::Patient]).await;
        let actor = Actor { user_id: Some(user.id), roles: praxis_domain::Roles::of(&[Role::Patient]), ..admin() };
        let patient = self.svc.my_patient(&actor).await.unwrap().unwrap();
        (user, patient)
    }

    /// The standard fixture (see [`Fixture`]).
    pub async fn fixture(&self) -> Fixture {
        let clinic = self.clinic("Harbour Clinic", "Australia/Sydney").await;
        let service = self.consultation().await;
        let (provider_user, provider) = self.provider(&[clinic.id], &[service.id]).await;
        self.weekdays(&provider, clinic.id, "09:00", "17:00").await;
        let (patient_user, patient) = self.patient_user().await;
        Fixture { clinic, service, provider_user, provider, patient_user, patient }
    }
}
