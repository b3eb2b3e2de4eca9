include $(sort $(wildcard $(BR2_EXTERNAL_RS6_PATH)/package/*/*.mk))
